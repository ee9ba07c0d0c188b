"""The simulated sites by name, as `callqa simulate --site NAME` offers them."""

from __future__ import annotations

from simulator.site import Site
from simulator.site_demo import DEMO
from simulator.site_north import NORTH

SITES: dict[str, Site] = {site.key: site for site in (DEMO, NORTH)}
