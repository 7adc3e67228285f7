"""The transactional outbox: messages written in the same transaction as the change that
causes them (email today), and the workers that deliver them."""
