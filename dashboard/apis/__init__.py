"""REST: one small view per operation, each calling one service or selector."""
