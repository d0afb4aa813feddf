"""Password hashing (libpass / passlib) and signed tokens (itsdangerous)."""
