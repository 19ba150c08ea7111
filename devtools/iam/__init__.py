"""Each function under its own IAM role, as deployed: the template's roles (roles.py), what AWS authorizes for
each SDK call (requests.py), AWS's policy evaluation logic (policy.py), which function a call is made for
(acting.py), the record of every call (record.py), and granted vs exercised (report.py)."""
