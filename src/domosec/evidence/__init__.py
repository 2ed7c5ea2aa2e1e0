"""Evidence: importers and collectors that turn real systems into model facts with provenance.

They never write findings; the rules do. Each source lives in its own subpackage
(``domosec.evidence.homeassistant``, ``domosec.evidence.scan``) and yields model data that
:class:`domosec.model.elements.SystemModel` validates.
"""
