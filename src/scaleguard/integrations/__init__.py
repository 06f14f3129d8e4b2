"""Adapters that let other tools feed a workspace (today: Inspect's task hook).

They sit beside the evidence readers rather than inside them: the readers
parse files, an integration decides when and where to record them.
"""
