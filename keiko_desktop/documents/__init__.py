"""Reading attached files: what they are and the text in them (the ``Extractor`` adapter).

``sniff`` classifies a file from its name and first bytes, ``text`` decodes text files,
``html_text`` turns HTML into its readable text, ``pdf`` reads PDFs with pypdf, ``docx`` reads
Word documents with the standard library, and ``extractor.DocumentExtractor`` puts them
behind ``core.files.ports.Extractor``. Everything here is synchronous and bounded; the
service runs it in a worker thread.
"""

from keiko_desktop.documents.extractor import DocumentExtractor

__all__ = ["DocumentExtractor"]
