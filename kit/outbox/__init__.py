"""The transactional outbox: messages of every channel (email today) written in the same
transaction as the change that causes them, and the one loop that delivers them."""
