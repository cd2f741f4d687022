"""Language-model adapters: the llama.cpp backend, the model registry and the catalog.

Import the submodules you need (``keiko_desktop.llm.registry``, ``...llama_backend``); this
package imports nothing heavy, and ``llama_cpp`` loads only with the first model.
"""
