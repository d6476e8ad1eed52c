"""Every change the open platform makes, one module per area: ``usage`` (counters, the only
write anonymous use makes), ``accounts`` (public registration), ``applications`` (open on
application, R-29.2), ``reads`` (the public's reads of rows, audited when made under an
application) and ``feedback`` (comments, error reports, data requests)."""
