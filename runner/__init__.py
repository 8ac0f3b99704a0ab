"""The job process side: the fork server, the job worker and the runner that follows them.

Imports the pure core (``scriptserver.jobs``) and the command library; nothing in
the core imports it.
"""
