"""The dashboards' variables, from ``SHOW TAG VALUES``, and the filters that use them.

County, park and enterprise are multi-value with "All" (the regex ``.*``, which also matches a
missing tag: an enterprise in no park has none), so queries match them with ``=~ /^$name$/``.
The site of the site detail dashboard is a single value, matched with ``= '$site'``.
"""

from dashboards.model import Variable

COUNTY = Variable("county", "County", 'SHOW TAG VALUES FROM "pm25" WITH KEY = "county"')
PARK = Variable(
    "park",
    "Park",
    'SHOW TAG VALUES FROM "pm25" WITH KEY = "park" WHERE "county" =~ /^$county$/',
)
ENTERPRISE = Variable(
    "enterprise",
    "Enterprise",
    'SHOW TAG VALUES WITH KEY = "enterprise" WHERE "county" =~ /^$county$/ AND "park" =~ /^$park$/',
)
SITE = Variable(
    "site",
    "Site",
    'SHOW TAG VALUES FROM "pm25" WITH KEY = "site" WHERE "enterprise" =~ /^$enterprise$/',
    multi=False,
)

PLACE = '"county" =~ /^$county$/ AND "park" =~ /^$park$/'
PLACE_ENTERPRISE = f'{PLACE} AND "enterprise" =~ /^$enterprise$/'
