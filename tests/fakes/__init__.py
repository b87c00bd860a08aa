"""Test doubles that speak real protocols (an Ollama HTTP server, in-process executors, report readers)."""
