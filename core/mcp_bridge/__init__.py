"""`hive mcp`: Hive as an MCP server, a client of the gateway's HTTP API acting with the caller's token."""
