"""Ratings of the service (好差评) and the rectification every dissatisfied rating opens."""
