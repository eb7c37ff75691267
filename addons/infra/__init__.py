"""I/O shared by the addons and the dashboard: files, loading, storage. Imports only core."""
