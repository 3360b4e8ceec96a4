import { existsSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { DocumentModel } from './model.js';

// Invoices and credit notes as PDF (pdfkit, the standard Helvetica fonts, A4). The same document
// model always gives the same bytes: pdfkit's only varying inputs are the metadata dates, which
// are set to the document's issue instant, and the file id derived from them.

const MARGIN = 50;
const GREY = '#6b7280';
const INK = '#111827';
// Columns of the line table: description, quantity, unit price, tax, amount.
const COLS = { desc: 50, descW: 235, qty: 285, qtyW: 35, unit: 320, unitW: 85, tax: 405, taxW: 55, amount: 460, amountW: 85 };

export function renderPdf(doc: DocumentModel): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: { Title: `${doc.title} ${doc.number}`, Author: doc.seller.name, Subject: doc.title, CreationDate: doc.issuedAt, ModDate: doc.issuedAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  const bottom = pdf.page.height - MARGIN;
  let y = MARGIN;
  const ensure = (h: number) => {
    if (y + h > bottom) {
      pdf.addPage();
      y = MARGIN;
    }
  };
  const text = (s: string, x: number, opts: { width?: number; align?: 'left' | 'right'; bold?: boolean; size?: number; color?: string } = {}) => {
    pdf
      .font(opts.bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(opts.size ?? 9)
      .fillColor(opts.color ?? INK)
      .text(s, x, y, { width: opts.width, align: opts.align ?? 'left', lineBreak: opts.width !== undefined });
  };

  // Header: logo (optional), title, seller.
  if (doc.logoPath && existsSync(doc.logoPath)) {
    pdf.image(doc.logoPath, MARGIN, y, { fit: [120, 40] });
    y += 48;
  }
  text(doc.title, MARGIN, { bold: true, size: 20 });
  text(doc.seller.name, 345, { bold: true, size: 10, width: 200, align: 'right' });
  y += 26;
  const top = y;
  for (const [k, v] of doc.meta) {
    text(k, MARGIN, { color: GREY, width: 95 });
    text(v, MARGIN + 95, { width: 190 });
    y += 13;
  }
  const metaEnd = y;
  y = top - 12;
  for (const l of doc.seller.lines) {
    y += 12;
    text(l, 345, { width: 200, align: 'right', color: GREY });
  }
  y = Math.max(metaEnd, y + 12) + 14;

  // Buyer, and beside it where the goods go when the invoice has shipping details.
  const block = (title: string, b: { title: string; lines: string[] }, x: number, width: number): number => {
    text(title, x, { color: GREY });
    y += 12;
    text(b.title, x, { bold: true, width });
    for (const l of b.lines) {
      y += 12;
      text(l, x, { width });
    }
    return y;
  };
  const blockTop = y;
  const billEnd = block('Bill to', doc.buyer, MARGIN, doc.shipTo ? 240 : 300);
  y = blockTop;
  const shipEnd = doc.shipTo ? block('Ship to', doc.shipTo, MARGIN + 260, 235) : billEnd;
  y = Math.max(billEnd, shipEnd) + 22;
  text(doc.status, MARGIN, { bold: true, size: 12, width: 495 });
  y += 24;

  // Lines.
  const header = () => {
    text('Description', COLS.desc, { color: GREY, width: COLS.descW });
    text('Qty', COLS.qty, { color: GREY, width: COLS.qtyW, align: 'right' });
    text('Unit price', COLS.unit, { color: GREY, width: COLS.unitW, align: 'right' });
    text('Tax', COLS.tax, { color: GREY, width: COLS.taxW, align: 'right' });
    text('Amount', COLS.amount, { color: GREY, width: COLS.amountW, align: 'right' });
    y += 13;
    pdf.moveTo(MARGIN, y).lineTo(pdf.page.width - MARGIN, y).strokeColor('#d1d5db').lineWidth(0.5).stroke();
    y += 6;
  };
  header();
  for (const l of doc.lines) {
    const descH = pdf.font('Helvetica').fontSize(9).heightOfString(l.description, { width: COLS.descW });
    ensure(descH + (l.period ? 12 : 0) + 8);
    if (y === MARGIN) header();
    text(l.description, COLS.desc, { width: COLS.descW });
    text(l.quantity, COLS.qty, { width: COLS.qtyW, align: 'right' });
    text(l.unitAmount, COLS.unit, { width: COLS.unitW, align: 'right' });
    text(l.tax, COLS.tax, { width: COLS.taxW, align: 'right' });
    text(l.amount, COLS.amount, { width: COLS.amountW, align: 'right' });
    y += descH + 2;
    if (l.period) {
      text(l.period, COLS.desc, { width: COLS.descW, color: GREY, size: 8 });
      y += 11;
    }
    y += 5;
  }
  y += 4;
  pdf.moveTo(300, y).lineTo(pdf.page.width - MARGIN, y).strokeColor('#d1d5db').lineWidth(0.5).stroke();
  y += 8;

  // Totals.
  for (const t of doc.totals) {
    ensure(14);
    text(t.label, 250, { width: 205, align: 'right', bold: t.strong, color: t.strong ? INK : GREY });
    text(t.value, COLS.amount, { width: COLS.amountW, align: 'right', bold: t.strong });
    y += 14;
  }

  // Tax breakdown by rate and jurisdiction.
  if (doc.taxBreakdown.length) {
    y += 10;
    ensure(14 * (doc.taxBreakdown.length + 2));
    text('Tax summary', MARGIN, { bold: true });
    y += 14;
    text('Rate', MARGIN, { color: GREY, width: 250 });
    text('Taxable amount', 320, { color: GREY, width: 120, align: 'right' });
    text('Tax', COLS.amount, { color: GREY, width: COLS.amountW, align: 'right' });
    y += 13;
    for (const t of doc.taxBreakdown) {
      text(t.label, MARGIN, { width: 265 });
      text(t.taxable, 320, { width: 120, align: 'right' });
      text(t.amount, COLS.amount, { width: COLS.amountW, align: 'right' });
      y += 13;
    }
  }

  for (const n of doc.notes) {
    y += 10;
    const h = pdf.font('Helvetica').fontSize(9).heightOfString(n, { width: 495 });
    ensure(h);
    text(n, MARGIN, { width: 495 });
    y += h;
  }
  if (doc.payment) {
    y += 14;
    ensure(13 * doc.payment.lines.length);
    doc.payment.lines.forEach((l, i) => {
      text(l, MARGIN, { width: 495, bold: i === 0 });
      y += 13;
    });
  }
  if (doc.hostedUrl) {
    y += 10;
    ensure(26);
    text('Pay online or download this invoice:', MARGIN, { color: GREY });
    y += 12;
    pdf.font('Helvetica').fontSize(8).fillColor('#1d4ed8').text(doc.hostedUrl, MARGIN, y, { width: 495, link: doc.hostedUrl });
  }
  pdf.end();
  return done;
}
