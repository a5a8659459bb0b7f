from wtforms import SelectField

from ..form_fields import Needed, ServiceForm, options
from .models import NOTIFICATION_CHANNELS


class ChannelForm(ServiceForm):
    """The account page's choice of how notifications reach the user (the service checks the value)."""

    channel = SelectField("How notifications reach you", choices=options(NOTIFICATION_CHANNELS.items()),
                          validators=[Needed()], validate_choice=False)
