"""The ``Idempotency-Key`` header: a state-changing API call sent again gets the first answer.

A phone on venue Wi-Fi cannot tell "the server never got it" from "the answer never came back",
so the offline queue (static/js/queue-core.js) sends every action with a UUID made when the person
acted, and sends it again until it gets an answer. The server keeps each key's answer for a day:
the same key gets the same answer and the action takes effect once; the same key with a
different request is refused with 422 (draft-ietf-httpapi-idempotency-key-header).
"""
