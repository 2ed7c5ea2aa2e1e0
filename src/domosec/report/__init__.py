"""Renderers of an Assessment. They read it and format it; they compute nothing new."""
