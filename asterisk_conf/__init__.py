"""asterisk_conf"""
