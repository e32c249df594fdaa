"""`tui-desk worker`: the one process that runs time-driven jobs.

``runtime`` holds the leader lease and the job loop, ``registry`` the jobs a deployment
runs, ``process`` the entry point with its signal handling. Job steps live in their
service modules and share only ``tui_desk.services.jobs`` with the worker.
"""
