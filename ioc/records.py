"""EPICS record fields on the scalar PVs (``.DESC``, ``.EGU``, ``.PREC``, ``.SEVR``, ``.STAT``).

Display managers, the IBEX GUI and genie_python read these fields; caproto serves
them when a PV is given a record type. caproto's defaults are changed here:

- ``.EGU``, ``.PREC``, ``.LOPR``/``.HOPR`` are filled from the PV (caproto leaves them empty);
- ``.DISP`` holds one byte that is always sent. caproto strips a trailing NUL from a
  CHAR value, so a DISP of 0 went out as an *empty* payload, which CaChannel (the CA
  library of genie_python) reads as whatever byte it held before: genie_python's
  ``cset`` then refused, now and then, with "DISP is set";
- ``.STAT`` is a CA enum of at most 16 strings, so a status past them (``UDF``, 17,
  which an unknown NaN value carries) is shown there as ``SOFT``: caproto would
  otherwise fail the read. The value's own alarm (``DBR_TIME``) keeps ``UDF``;
- the alarm fields are written when the alarm changes, as a C record posts them,
  not at every write of the value (caproto's way: four field writes per put).
"""
from __future__ import annotations

from caproto import AlarmStatus
from caproto.server import pvproperty
from caproto.server.records import records
from caproto.server.server import (PvpropertyByte, PvpropertyChar, PvpropertyDouble,
                                   PvpropertyShort)

from .ibex import description
from .pvs import PV

# (kind, takes puts) -> the EPICS record type it behaves as
RECORD_TYPES: dict[tuple[str, bool], str] = {
    ("double", False): "ai", ("double", True): "ao",
    ("long", False): "longin", ("long", True): "longout",
    ("enum", False): "mbbi", ("enum", True): "mbbo",
}
DESC_LENGTH = 40        # characters an EPICS .DESC holds
EGU_LENGTH = 16


def record_for(pv: PV) -> type | None:
    """The record field class a scalar PV is served with (None for waveforms)."""
    record_type = RECORD_TYPES.get((pv.kind, pv.action is not None))
    if record_type is None:
        return None
    fields = {
        "description": pvproperty(name="DESC", dtype=PvpropertyChar, max_length=DESC_LENGTH + 1,
                                  report_as_string=True, value=description(pv)[:DESC_LENGTH],
                                  doc="Descriptor", read_only=True),
        "disable_putfield": pvproperty(name="DISP", dtype=PvpropertyByte, value=0,
                                       strip_null_terminator=False, doc="Disable putField",
                                       read_only=True),
    }
    if hasattr(records[record_type], "engineering_units"):
        fields["engineering_units"] = pvproperty(
            name="EGU", dtype=PvpropertyChar, max_length=EGU_LENGTH, report_as_string=True,
            value=pv.units[:EGU_LENGTH], doc="Engineering Units", read_only=True)
    if pv.kind == "double":
        fields["display_precision"] = pvproperty(name="PREC", dtype=PvpropertyShort, value=1,
                                                 doc="Display Precision", read_only=True)
    if pv.limits and hasattr(records[record_type], "high_operating_range"):
        low, high = pv.limits
        fields["low_operating_range"] = pvproperty(name="LOPR", dtype=PvpropertyDouble,
                                                   value=low, doc="Low Operating Range")
        fields["high_operating_range"] = pvproperty(name="HOPR", dtype=PvpropertyDouble,
                                                    value=high, doc="High Operating Range")
    fields["publish"] = _publish_alarm
    name = "".join(part.title() for part in pv.name.split(":")) + "Fields"
    return type(name, (records[record_type],), fields)


async def _publish_alarm(self, flags) -> None:
    """The record's alarm fields follow the PV's alarm (caproto's own, with STAT kept
    within the strings a CA enum can carry)."""
    alarm = self._alarm
    status = alarm.status if int(alarm.status) < len(self.alarm_status.enum_strings) \
        else AlarmStatus.SOFT
    shown = (alarm.must_acknowledge_transient, alarm.severity_to_acknowledge, status,
             alarm.severity)
    if getattr(self, "_alarm_shown", None) == shown:
        return          # caproto calls this at every value write: four field writes each time
    self._alarm_shown = shown
    await self.alarm_acknowledge_transient.write(alarm.must_acknowledge_transient)
    await self.alarm_acknowledge_severity.write(alarm.severity_to_acknowledge)
    await self.alarm_status.write(status)
    await self.current_alarm_severity.write(alarm.severity)
