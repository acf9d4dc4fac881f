// What runs and the bench use of a station's calibration: load a profile, apply it to the board, and the
// time an action may take to show on the station.
export { loadCalibration, parseCalibration, resolveCalibrationFile, type Calibration } from './profile.ts';
export { applyCalibration, confirmTimeoutFor, frameSizeMismatch } from './apply.ts';
