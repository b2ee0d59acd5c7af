"""Applications built on ``impasto.stylize``, as library code: ``batch`` (many jobs, workers, Ray), ``video``
(clips without flicker), ``painter`` (the web page's job runner) and ``web`` (the Gradio page). Their
command lines live in ``impasto.cli``."""
