"""A simulated smart pole of a family that is not the bench's: Cangshan Lighting's CS-LC300
single-lamp controller (Modbus RTU), CS-TS2 tilt and CS-EV6 environment sensors (Modbus TCP
behind the pole gateway), a Xishan DDZY-88 DL/T 645-2007 meter and the CS-GW10 MQTT gateway.

Written from the vendor documentation in tests/foreign/README.md, without ycsa_conform's bench
code, maps or codecs: pymodbus's server API, pyserial and paho-mqtt directly.
"""
