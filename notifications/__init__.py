"""Notification channels subscribed to the engine's domain events (engine.events)."""
