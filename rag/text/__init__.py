"""Text helpers shared by ingestion and answering: sentences, languages, numbers and citation markers."""
