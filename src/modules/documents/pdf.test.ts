import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pdfToText } from '../../../test/scenarios/taxes-support.js';
import type { DocumentModel } from './model.js';
import { renderPdf } from './pdf.js';

// A 1×1 PNG, for the logo.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

function model(lines: number, logoPath: string | null): DocumentModel {
  return {
    kind: 'invoice',
    title: 'Invoice',
    number: 'RECUR-0007',
    currency: 'eur',
    issuedAt: new Date('2026-02-01T09:30:00Z'),
    meta: [['Invoice number', 'RECUR-0007']],
    seller: { name: 'Peak Coaching LLC', lines: ['Tax ID: EIN 12-3456789'] },
    buyer: { title: 'Lena Vogel', lines: ['10117 Berlin', 'DE'] },
    shipTo: null,
    lines: Array.from({ length: lines }, (_, i) => ({ description: `Session ${i + 1}`, period: null, quantity: '1', unitAmount: '€10.00', tax: '19%', amount: '€10.00' })),
    totals: [{ label: 'Total', value: `€${(lines * 11.9).toFixed(2)}`, strong: true }],
    taxBreakdown: [{ label: 'VAT 19% (Germany)', taxable: `€${lines * 10}.00`, amount: `€${(lines * 1.9).toFixed(2)}` }],
    notes: [],
    status: 'Paid on Feb 1, 2026',
    payment: null,
    hostedUrl: null,
    logoPath,
  };
}

describe('PDF documents', () => {
  it('are the same bytes for the same document, with the logo, over several pages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-logo-'));
    const logo = join(dir, 'logo.png');
    writeFileSync(logo, PNG);
    const a = await renderPdf(model(80, logo));
    const b = await renderPdf(model(80, logo));
    expect(a.equals(b)).toBe(true);
    expect(a.toString('latin1')).toContain('/Subtype /Image');
    const text = await pdfToText(a);
    expect(a.toString('latin1').match(/\/Type \/Page\b/g)!.length).toBe(3);
    expect(text).toContain('Session 1 1 €10.00 19% €10.00');
    expect(text).toContain('Session 80 1 €10.00 19% €10.00');
    expect(text).toContain('VAT 19% (Germany) €800.00 €152.00');
    // 80 lines take three A4 pages: the table continues, its header repeated on each.
    expect(text.split('Description Qty Unit price Tax Amount').length - 1).toBe(3);
    const without = await renderPdf(model(1, '/nonexistent/logo.png'));
    expect(without.toString('latin1')).not.toContain('/Subtype /Image');
  });

  it('show where the goods go beside the buyer when the invoice has shipping details', async () => {
    const plain = await pdfToText(await renderPdf(model(1, null)));
    expect(plain).not.toContain('Ship to');
    const shipped = await pdfToText(await renderPdf({ ...model(1, null), shipTo: { title: 'Dana Coach', lines: ['1 Harbor Way', '94607 Oakland', 'US', '+14155550123'] } }));
    for (const s of ['Bill to', 'Lena Vogel', 'Ship to', 'Dana Coach', '1 Harbor Way', '94607 Oakland', '+14155550123']) expect(shipped).toContain(s);
  });
});
