/**
 * User-facing strings in every supported language (English and Chinese). Views look text up by key; a missing
 * key fails to compile, so a screen cannot ship half-translated. Error codes map to text here, not in the modules
 * that raise them.
 */
import type { ErrorCode } from '../shared/errors';

export type Lang = 'en' | 'zh';

const en = {
  title: 'Entrance kiosk',
  firstRun: 'Preparing this kiosk for offline use…',
  firstRunDone: 'Ready to work offline',
  starting: 'Starting…',
  lookAtCamera: 'Please look at the camera',
  faceSeen: 'Face detected',
  facesSeen: 'faces detected',
  cameraDeniedTitle: 'Camera blocked',
  cameraAbsentTitle: 'No camera',
  cameraLostTitle: 'Camera disconnected',
  cameraHelp: 'A guard has been notified. The kiosk will retry automatically.',
  retry: 'Retry',
  updateWaiting: 'An update will install when the kiosk is idle.',
  modelError: 'The recognition models could not be loaded.',
  detectorBusy: 'Detector restarting…',
} as const;

export type StringKey = keyof typeof en;

const zh: Record<StringKey, string> = {
  title: '入口终端',
  firstRun: '正在准备离线使用…',
  firstRunDone: '已可离线使用',
  starting: '正在启动…',
  lookAtCamera: '请看向摄像头',
  faceSeen: '检测到人脸',
  facesSeen: '张人脸',
  cameraDeniedTitle: '摄像头被阻止',
  cameraAbsentTitle: '未找到摄像头',
  cameraLostTitle: '摄像头已断开',
  cameraHelp: '已通知保安。终端将自动重试。',
  retry: '重试',
  updateWaiting: '终端空闲时将安装更新。',
  modelError: '无法加载识别模型。',
  detectorBusy: '检测器正在重启…',
};

const errorsZh: Partial<Record<ErrorCode, string>> = {
  CAMERA_DENIED: '摄像头访问被拒绝。请在浏览器设置中允许本站使用摄像头。',
  CAMERA_ABSENT: '未找到摄像头。请连接摄像头。',
  CAMERA_BUSY: '摄像头正被其他程序使用。',
  CAMERA_LOST: '摄像头已断开。',
  CAMERA_UNSUPPORTED: '此浏览器无法在此使用摄像头（需要安全来源）。',
  MODEL_INTEGRITY: '模型文件两次未通过完整性检查，已拒绝。请重新安装。',
  MODEL_MISSING: '应用缺少模型文件。请重新安装。',
};

const tables: Record<Lang, Record<StringKey, string>> = { en, zh };

let current: Lang = navigator.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export function lang(): Lang {
  return current;
}

export function t(key: StringKey): string {
  return tables[current][key];
}

/** Text for an error code in the current language (falls back to the English message table). */
export function errorText(code: ErrorCode, fallback: string): string {
  return current === 'zh' ? (errorsZh[code] ?? fallback) : fallback;
}
