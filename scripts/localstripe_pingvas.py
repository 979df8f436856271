"""localstripe with the parts of Stripe's API that PingvasAI's billing relies on and localstripe
lacks, for the tests (issue 33). Run with localstripe's own Python, with localstripe's options:

    ~/.cache/pingvas-localstripe/bin/python scripts/localstripe_pingvas.py --port 3022 --from-scratch

What it adds, as Stripe documents it:

- `Idempotency-Key` on POST: a repeated key gets the first answer again and does nothing more
  (Stripe keeps keys 24 hours; here, for the server's life).
- Subscription updates with `proration_behavior` (`create_prorations`, `none`, `always_invoice`)
  and `payment_behavior` (`allow_incomplete`, `pending_if_incomplete`, `error_if_incomplete`):
  `always_invoice` invoices the change at once and charges it; with `pending_if_incomplete` a
  charge that fails leaves the subscription's price as it was and sets `pending_update` (the
  answer is still 200, as Stripe's is); `none` bills nothing for the change.

- Webhook deliveries as Stripe makes them: to every endpoint at once (localstripe posts to one
  endpoint after another, so with many endpoints registered, as a test suite does, news arrived
  later and later), each with a time limit, and retried with backoff when the endpoint answers
  5xx or times out (localstripe never retried: one busy moment lost an event for good).

Everything else is localstripe's, unchanged. Only for tests: nothing here is production code.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import time

import aiohttp
from aiohttp import web

from localstripe import resources, server, webhooks
from localstripe.errors import UserError

Subscription = resources.Subscription
Invoice = resources.Invoice
InvoiceItem = resources.InvoiceItem

PRORATIONS = (None, 'create_prorations', 'none', 'always_invoice')
PAYMENTS = (None, 'allow_incomplete', 'pending_if_incomplete', 'error_if_incomplete',
            'default_incomplete')

_plain_update = Subscription._update


def _pending_items(customer):
    return [ii for ii in InvoiceItem._api_list_all(None, customer=customer, limit=99)._list
            if ii.invoice is None]


def _update(self, proration_behavior=None, payment_behavior=None, **data):
    if proration_behavior not in PRORATIONS or payment_behavior not in PAYMENTS:
        raise UserError(400, 'Bad request')
    old_items, old_quantity = self.items, self.quantity
    pending_before = {ii.id for ii in _pending_items(self.customer)}
    _plain_update(self, **data)
    if self.items is old_items:
        return  # no price change: nothing to bill
    created = [ii for ii in _pending_items(self.customer) if ii.id not in pending_before]
    if proration_behavior == 'none':
        for ii in created:  # the change is not billed
            InvoiceItem._api_delete(ii.id)
        return
    if proration_behavior != 'always_invoice':
        return  # prorations wait for the next invoice, as localstripe always did
    invoice = Invoice._api_create(customer=self.customer, subscription=self.id)
    if invoice.status == 'draft':
        invoice._finalize()
    if invoice.status != 'paid':
        Invoice._api_pay_invoice(invoice.id)
    if invoice.status == 'paid':
        self.pending_update = None
        return
    if payment_behavior == 'pending_if_incomplete':
        # The change waits for a payment that did not come: the price stays as it was. The
        # invoice is voided here directly; localstripe's own void would end the subscription.
        self.items, self.quantity = old_items, old_quantity
        invoice._draft, invoice._voided = False, True
        self.pending_update = {
            'expires_at': int(time.time()) + 23 * 3600,
            'subscription_items': [{'plan': data.get('items', [{}])[0].get('plan')}],
        }
    elif payment_behavior == 'error_if_incomplete':
        self.items, self.quantity = old_items, old_quantity
        invoice._draft, invoice._voided = False, True
        raise UserError(402, 'Your card was declined.', {'code': 'card_declined'})
    else:
        self._on_recurring_payment_failure(invoice)


Subscription._update = _update

# Answers kept by idempotency key: (key, path) -> (status, body).
_answers = {}


@web.middleware
async def idempotency(request, handler):
    key = request.headers.get('Idempotency-Key')
    if request.method != 'POST' or not key:
        return await handler(request)
    seen = _answers.get((key, request.path))
    if seen is not None:
        status, body = seen
        return web.Response(status=status, body=body, content_type='application/json',
                            headers={'Idempotent-Replayed': 'true'})
    response = await handler(request)
    if response.status < 500:
        _answers[(key, request.path)] = (response.status, response.body)
    return response


server.app.middlewares.append(idempotency)

# Stripe retries for days; a test needs a few tries within a minute.
RETRY_DELAYS = (1, 2, 4, 8, 16)


async def _deliver(webhook, event_type, payload, created):
    logger = logging.getLogger('aiohttp.access')
    signature = hmac.new(webhook.secret.encode('utf-8'), b'%d.%s' % (created, payload),
                         hashlib.sha256).hexdigest()
    headers = {'Content-Type': 'application/json; charset=utf-8',
               'Stripe-Signature': 't=%d,v1=%s' % (created, signature)}
    for delay in (0,) + RETRY_DELAYS:
        await asyncio.sleep(delay)
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(webhook.url, data=payload, headers=headers) as answer:
                    if answer.status < 500:
                        logger.info('webhook "%s" answered %d', event_type, answer.status)
                        return
        except aiohttp.ClientConnectorError:
            return  # nobody listens there any more (a finished test's server)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.info('webhook "%s" failed: %s; retrying', event_type, error)


async def _send_webhook(event):
    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode('utf-8')
    await asyncio.sleep(1)  # as localstripe: the request that caused it has answered by then
    await asyncio.gather(*(
        _deliver(webhook, event.type, payload, event.created)
        for webhook in list(webhooks._webhooks.values())
        if webhook.events is None or event.type in webhook.events))


webhooks._send_webhook = _send_webhook

if __name__ == '__main__':
    server.start()
