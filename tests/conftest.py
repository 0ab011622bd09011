import os

from hypothesis import settings

# Modest example counts keep the suite within CI's budget; FASTNN_HYPOTHESIS=ci-long
# raises them for a longer local run.
settings.register_profile("default", max_examples=40, deadline=None)
settings.register_profile("ci-long", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("FASTNN_HYPOTHESIS", "default"))
