"""Finding passages: dense search with sentence lift, BM25 keyword search, and the articles catalogue."""
