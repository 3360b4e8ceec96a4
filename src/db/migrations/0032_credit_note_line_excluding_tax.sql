-- A credit note line's amount_excluding_tax, stored: it is a share of what was left of the invoice
-- line's inclusive tax before discounts (credit-notes/domain/amounts.ts), so the credit notes of a
-- wholly credited invoice add up to its subtotal_excluding_tax to the cent. Computing it from each
-- credit note line alone, as before, could be a cent off over several partial credits. NULL on older
-- lines: those keep the figure computed from the line alone.
ALTER TABLE credit_note_lines ADD COLUMN amount_excluding_tax bigint;
