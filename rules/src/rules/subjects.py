"""What a rule result is about: its subject string, one per kind of thing a rule can judge.

The subject is part of a result's key (rule, subject, window start), so it must name exactly
one series of decisions and never two things at once:

=====================================  ==================================================
subject                                used by
=====================================  ==================================================
``site:{site}``                        site-level windows (means, AQI)
``site:{site}/device:{device}``        device rules on one metric: threshold, flatline,
                                       PM order, no data from a device
``site:{site}/device:{device}/metric:  out of range, which watches every metric of a
{metric}``                             device: two metrics out at one instant are two
                                       episodes
``gateway:{gateway}``                  no data from a gateway, gateway offline
=====================================  ==================================================

Identifiers are topic-safe (no ``/``), so a subject reads back unambiguously.
"""


def site_subject(site: str) -> str:
    """``site:{site}``."""
    return f"site:{site}"


def device_subject(site: str, device: str) -> str:
    """``site:{site}/device:{device}``: device ids are unique within their site."""
    return f"site:{site}/device:{device}"


def metric_subject(site: str, device: str, metric: str) -> str:
    """``site:{site}/device:{device}/metric:{metric}``."""
    return f"site:{site}/device:{device}/metric:{metric}"


def gateway_subject(gateway: str) -> str:
    """``gateway:{gateway}``."""
    return f"gateway:{gateway}"
