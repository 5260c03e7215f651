"""Integration tests of POST /v1/uploads: documents and archives through HTTP and a database."""
