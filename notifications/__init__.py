"""Notification channels subscribed to the engine's domain events (`engine.core.events`).

In the app: a bell with unread notifications. By email: SMTP, in Indonesian, plain text and HTML,
right away or in a daily digest, as each person prefers. Notifications are made from the outbox
after the change that caused them has committed; a failure never undoes or blocks that change.

`notifications.plugin.plugin(settings)` is what the app factory and the command line pass to
`engine.bootstrap`.
"""
