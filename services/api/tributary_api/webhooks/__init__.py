"""Provider webhooks in: `/webhooks/github`, `/webhooks/meta`, `/webhooks/youtube`.

Open to the internet by nature (no bearer token): every POST must carry a valid HMAC
signature made with the provider secret configured for it, or it is answered 401 and
nothing is recorded. Facts and their sources: docs/webhooks.md.
"""
