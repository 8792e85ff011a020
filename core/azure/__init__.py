"""The I/O edges: the one module that talks to ARM (``arm``) and the Azure Storage clients (``storage``)."""
