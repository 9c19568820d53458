"""Engine benchmark: first-reply latency and exactness of a whole Sheepdog deployment under load.

Drives a real `sheepdog run` (plus RQ workers in production mode) over HTTP and times each first
reply by its arrival at the bench's own SMTP server. See bench/engine/README.md.
"""
