"""newsqa front ends: the command line and the Gradio chat."""
