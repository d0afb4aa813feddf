"""What the API and the CLI both show: one JSON shape per entity (``entities``), the opaque
list cursors (``cursors``) and the pages built from them (``pages``).

Every face imports these from here, so ``helpdesk ... --json`` and the API answer the same
document; nothing in this package knows about HTTP (falcon) or the command line (click).
"""
