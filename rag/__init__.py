"""newsqa core: settings, models, the store, and answering (shared by ingestion and the UIs)."""
