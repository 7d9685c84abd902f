/**
 * Preloaded (`node --import`) into a service that runs under callgrind, to mark the measured
 * stretch: after `CALLGRIND_WARM_ANSWERS` answers the counts are zeroed, and after
 * `CALLGRIND_MEASURED_ANSWERS` more they are written out. Callgrind can only be told "zero before
 * function F" and "dump before function G" (`--zero-before`, `--dump-before`), so the marks are
 * calls into two libuv functions nothing else in the service calls: `os.setPriority` runs
 * `uv_os_setpriority`, `os.getPriority` runs `uv_os_getpriority`. Setting priority 0, the default,
 * changes nothing.
 */
import { subscribe } from "node:diagnostics_channel";
import os from "node:os";

const warmAnswers = Number(process.env.CALLGRIND_WARM_ANSWERS);
const measuredAnswers = Number(process.env.CALLGRIND_MEASURED_ANSWERS);
if (!Number.isInteger(warmAnswers) || !Number.isInteger(measuredAnswers)) {
  throw new Error("callgrind-marks: set CALLGRIND_WARM_ANSWERS and CALLGRIND_MEASURED_ANSWERS");
}

let answered = 0;
subscribe("http.server.response.finish", () => {
  answered += 1;
  if (answered === warmAnswers) os.setPriority(0);
  else if (answered === warmAnswers + measuredAnswers) os.getPriority();
});
