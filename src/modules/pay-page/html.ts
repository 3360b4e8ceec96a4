import { escapeHtml } from '../notifications/templates.js';

// The payment-update page, rendered on the server: no script is needed for the built-in (simulated)
// gateway; with a Stripe publishable key, Stripe Elements collects the card and only its
// PaymentMethod id reaches Recur.

export interface PageOffer {
  id: string;
  text: string;
}

export interface PayPageModel {
  title: string;
  amount: string;
  invoiceNumber: string | null;
  planName: string;
  cardOnFile: string | null;
  needsNewCard: boolean;
  action: string;
  offers: PageOffer[];
  notice: { kind: 'error' | 'success' | 'info'; text: string } | null;
  stripePublishableKey: string | null;
  showForm: boolean;
}

const CSS = `body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f3f4f6;color:#111827;margin:0}
main{max-width:480px;margin:40px auto;background:#fff;padding:32px;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:22px;margin:0 0 4px}.amount{font-size:32px;font-weight:700;margin:16px 0}.muted{color:#6b7280;font-size:14px}
label{display:block;font-size:14px;margin:12px 0 4px}input{width:100%;box-sizing:border-box;padding:10px;border:1px solid #d1d5db;border-radius:6px;font-size:16px}
.row{display:flex;gap:12px}.row>div{flex:1}button{margin-top:20px;width:100%;padding:12px;background:#111827;color:#fff;border:0;border-radius:6px;font-size:16px;cursor:pointer}
.notice{padding:12px;border-radius:6px;margin:16px 0}.error{background:#fef2f2;color:#991b1b}.success{background:#ecfdf5;color:#065f46}.info{background:#eff6ff;color:#1e3a8a}
.offer{border:1px solid #a7f3d0;background:#ecfdf5;padding:12px;border-radius:6px;margin-top:16px}.offer button{background:#047857;margin-top:8px}`;

export function shell(title: string, body: string, head = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title><style>${CSS}</style>${head}</head><body><main>${body}</main></body></html>`;
}

export function messagePage(title: string, text: string): string {
  return shell(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`);
}

export function payPage(m: PayPageModel): string {
  const notice = m.notice ? `<div class="notice ${m.notice.kind}" role="status">${escapeHtml(m.notice.text)}</div>` : '';
  const offers = m.offers
    .map((o) => `<form class="offer" method="post" action="${escapeHtml(m.action)}/offers/${escapeHtml(o.id)}"><div>${escapeHtml(o.text)}</div><button type="submit">Accept this offer</button></form>`)
    .join('');
  const card = m.cardOnFile ? `<p class="muted">Card on file: ${escapeHtml(m.cardOnFile)}${m.needsNewCard ? ' — it cannot be charged again; please add a new card.' : ''}</p>` : '';
  let form = '';
  let head = '';
  if (m.showForm && m.stripePublishableKey) {
    head = '<script src="https://js.stripe.com/v3/"></script>';
    form = `<form id="pay" method="post" action="${escapeHtml(m.action)}"><label>Card</label><div id="card" style="padding:12px;border:1px solid #d1d5db;border-radius:6px"></div>
<input type="hidden" name="stripe_payment_method"><input type="hidden" name="card_brand"><input type="hidden" name="card_last4"><input type="hidden" name="card_exp_month"><input type="hidden" name="card_exp_year">
<button type="submit">Save card and pay ${escapeHtml(m.amount)}</button></form>
<script>const stripe=Stripe(${JSON.stringify(m.stripePublishableKey)});const card=stripe.elements().create('card');card.mount('#card');
document.getElementById('pay').addEventListener('submit',async(e)=>{e.preventDefault();const f=e.target;const r=await stripe.createPaymentMethod({type:'card',card});
if(r.error){alert(r.error.message);return;}const pm=r.paymentMethod;f.stripe_payment_method.value=pm.id;f.card_brand.value=pm.card.brand;f.card_last4.value=pm.card.last4;
f.card_exp_month.value=pm.card.exp_month;f.card_exp_year.value=pm.card.exp_year;f.submit();});</script>`;
  } else if (m.showForm) {
    form = `<form method="post" action="${escapeHtml(m.action)}" autocomplete="on">
<label for="name">Name on card</label><input id="name" name="name" autocomplete="cc-name">
<label for="number">Card number</label><input id="number" name="number" inputmode="numeric" autocomplete="cc-number" required>
<div class="row"><div><label for="exp_month">Month</label><input id="exp_month" name="exp_month" inputmode="numeric" placeholder="MM" autocomplete="cc-exp-month" required></div>
<div><label for="exp_year">Year</label><input id="exp_year" name="exp_year" inputmode="numeric" placeholder="YYYY" autocomplete="cc-exp-year" required></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc"></div></div>
<button type="submit">Save card and pay ${escapeHtml(m.amount)}</button></form>`;
  }
  const body = `<h1>${escapeHtml(m.title)}</h1><p class="muted">${escapeHtml(m.planName)}${m.invoiceNumber ? ` · invoice ${escapeHtml(m.invoiceNumber)}` : ''}</p>
<div class="amount">${escapeHtml(m.amount)}</div>${notice}${card}${form}${offers}
<p class="muted" style="margin-top:24px">Your card details go to the payment processor; they are never stored by us.</p>`;
  return shell(m.title, body, head);
}
