"""Three-party calls (三方连线): the legs of calls/legs.py carried out in Asterisk."""
