"""Stage functions: one plain function per pipeline step, shared by every front door."""
