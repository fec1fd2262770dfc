/**
 * The settings cards of the admin console: every setting with the value in force (a default shown as its value),
 * "Save" naming what changed and refusing a bad number with its field named; the open-set status the watchlist's
 * size forces (threshold, expected false-match rate, a refusal when the target cannot be met); and the notice of
 * stored settings that failed their check at start and run on their defaults (field and value in force).
 *
 * Owns only these cards' DOM; it calls the settings service (src/app/settings-service.ts), which validates, stores
 * and applies. It never reaches storage, crypto or a worker, and decides nothing about who gets in.
 */
import type { AppSnapshot } from '../app/controller';
import { IDLE_SECONDS_MAX, IDLE_SECONDS_MIN, padPolicyOf, ROLE_IDLE_SECONDS, type DeviceRole, type KioskSettings } from '../config/kiosk';
import { resolveFaceConfig } from '../config/face';
import { DEFAULT_PLATE_MATCH } from '../config/plate';
import { KioskError } from '../shared/errors';
import { card, field, outLine, roleSelect, run } from './card-kit';
import { h } from './dom';
import { colon, lang, t, tf, type StringKey } from './i18n';

export interface SettingsActions {
  saveSettings(patch: Partial<KioskSettings>): Promise<KioskSettings>;
  cameras(): Promise<{ deviceId: string; label: string }[]>;
  /** Stored settings repaired to their defaults at the last unlock, with the value in force now. */
  repairs(): { field: string; inForce: string }[];
  /** Shows every screen in `l` (main.ts: a reload), for a language chosen here that is already the stored one. */
  showLanguage(l: 'en' | 'zh'): void;
}

/** Which settings a save changes, as the labels the form shows (compared by value, nested parts included). */
function changedSettings(cur: KioskSettings, next: Partial<KioskSettings>): StringKey[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const labels: [keyof KioskSettings, StringKey][] = [
    ['role', 'deviceRole'],
    ['sessionIdleSeconds', 'field_sessionIdleSeconds'],
    ['overrideLimit', 'field_overrideLimit'],
    ['overrideWindowMinutes', 'field_overrideWindowMinutes'],
    ['mode', 'mode'],
    ['lang', 'language'],
    ['showNames', 'showNames'],
    ['subjectRefs', 'subjectRefs'],
    ['pad', 'padPolicy'],
    ['retentionHours', 'field_retentionHours'],
    ['door', 'field_door'],
    ['upstreamPath', 'field_upstreamPath'],
    ['cameraDeviceId', 'camera'],
    ['presenceCooldownSeconds', 'presenceCooldown'],
  ];
  const out = labels.filter(([k]) => k in next && !same(cur[k], next[k])).map(([, l]) => l);
  const a = cur.face;
  const b = next.face ?? a;
  if (!same(a.embedder, b.embedder)) out.push('field_embedder');
  if (!same(a.thresholds, b.thresholds)) out.push('field_accept');
  if (!same(a.pad?.liveThreshold, b.pad?.liveThreshold)) out.push('field_liveThreshold');
  if (!same(a.openSet?.targetFpir, b.openSet?.targetFpir)) out.push('fpirTargetSetting');
  const region = cur.plate.region ?? DEFAULT_PLATE_MATCH.region;
  if (!same(region, next.plate?.region ?? region)) out.push('field_plateRegion');
  return out;
}

export class SettingsCard {
  /** The settings card (rebuilt with the stored values after a save or any change under it). */
  el: HTMLElement;
  /** The open-set status card. */
  readonly openSetEl: HTMLElement;
  /** The repaired-settings notice, empty and hidden when nothing was repaired. */
  readonly notice: HTMLElement;
  private readonly openSet: HTMLElement;
  private shown: KioskSettings | null = null;
  /** `shown` serialised: compared when a new settings object arrives (an equal copy keeps the form as it is). */
  private shownJson = '';
  private lastOpenSet: unknown = undefined;
  private lastRepairs = '';
  /** One outcome line for every rendering of the card: a save re-renders it with the stored values. */
  private readonly out = outLine('settings-message');
  /** Controls the admin changed and has not saved (by test id, last change last): carried over when the card is
   * rebuilt for settings stored under it, so a role picked a moment before another change is not thrown away. */
  private readonly unsaved = new Map<string, { value: string; checked: boolean }>();

  constructor(private readonly actions: SettingsActions, s: KioskSettings) {
    this.openSet = h('dl', { class: 'status', 'data-testid': 'open-set' });
    this.openSetEl = card(t('openSetTitle'), 'section-open-set', this.openSet);
    this.notice = h('div', { class: 'notice', role: 'alert', 'data-testid': 'config-repairs', hidden: true });
    this.el = this.build(s);
  }

  /** Follows the snapshot: settings changed under the form, a new open-set assessment, repaired settings. */
  render(settings: KioskSettings, openSet: AppSnapshot['openSet'], repairs: readonly string[]): void {
    // Rebuilt only for other values: every unlock hands over an equal copy, and rebuilding for it threw away what the
    // admin had chosen but not saved yet (CI, stop 30: a role just picked was back to the stored one).
    // The admin view renders on every snapshot (every analysed frame): settings are serialised only when a new
    // object arrives, and an equal one is kept as the one shown so the next frames stop at the identity check.
    if (settings !== this.shown) {
      const json = JSON.stringify(settings);
      if (json !== this.shownJson) {
        const next = this.build(settings);
        this.carryOver(next);
        this.el.replaceWith(next);
        this.el = next;
      }
      this.shown = settings;
    }
    if (openSet !== this.lastOpenSet) {
      this.lastOpenSet = openSet;
      this.renderOpenSet(openSet);
    }
    const key = `${repairs.join('|')}#${this.shownJson}`;
    if (key !== this.lastRepairs) {
      this.lastRepairs = key;
      this.renderRepairs();
    }
  }

  /** Re-applies the unsaved changes to a rebuilt card, in the order they were made, each with its change event
   * (so what follows from it — the idle default of a role, the threshold of an embedder — follows again). */
  private carryOver(el: HTMLElement): void {
    for (const [id, v] of [...this.unsaved]) {
      const c = el.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-testid="${id}"]`);
      if (!c) continue;
      if (c instanceof HTMLInputElement && c.type === 'checkbox') c.checked = v.checked;
      else c.value = v.value;
      c.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }

  /** Each repaired field by name with the value now in force; the admin fixes it by saving the setting again. */
  private renderRepairs(): void {
    const items = this.actions.repairs();
    this.notice.hidden = items.length === 0;
    this.notice.dataset['tone'] = 'bad';
    this.notice.dataset['code'] = 'CONFIG_INVALID';
    this.notice.replaceChildren(
      ...(items.length === 0
        ? []
        : [
            h('p', {}, t('configRepairedTitle')),
            h(
              'ul',
              {},
              ...items.map((r) =>
                h('li', { 'data-field': r.field, 'data-in-force': r.inForce }, tf('configRepairedItem', { field: r.field, value: r.inForce })),
              ),
            ),
            h('p', { class: 'help' }, t('configRepairedHelp')),
          ]),
    );
  }

  /** The accept threshold the gallery size forces, the expected FPIR there, and a refusal when unreachable. */
  private renderOpenSet(o: AppSnapshot['openSet']): void {
    if (!o) {
      this.openSet.replaceChildren();
      return;
    }
    const pct = (x: number) => `${(100 * x).toPrecision(2)}%`;
    this.openSet.dataset['reachable'] = String(o.reachable);
    this.openSet.dataset['threshold'] = o.threshold.toFixed(3);
    const refused = o.reachable
      ? []
      : [
          h(
            'dd',
            { role: 'alert', class: 'form-message', 'data-tone': 'bad', 'data-testid': 'open-set-refused', 'data-code': 'WATCHLIST_TOO_LARGE' },
            `${t('openSetUnreachable')} [WATCHLIST_TOO_LARGE]`,
          ),
        ];
    this.openSet.replaceChildren(
      h('dt', {}, t('openSetThreshold')),
      h('dd', { 'data-testid': 'open-set-threshold' }, `${o.threshold.toFixed(3)} (${o.templates} ${t('openSetTemplates')})`),
      h('dt', {}, t('openSetFpir')),
      h('dd', { 'data-testid': 'open-set-fpir' }, `${pct(o.expectedFpir)} (${t('openSetTarget')} ≤ ${pct(o.targetFpir)})`),
      ...refused,
    );
  }


  private build(s: KioskSettings): HTMLElement {
    this.shown = s;
    this.shownJson = JSON.stringify(s);
    // Every control shows the value in force: where a setting is "the default", the default's value is shown.
    const inForce = resolveFaceConfig(s.face);
    const mode = h('select', { 'data-testid': 'setting-mode' }, h('option', { value: 'face' }, t('modeFace')), h('option', { value: 'plate' }, t('modePlate')));
    mode.value = s.mode;
    const language = h('select', { 'data-testid': 'setting-lang' }, h('option', { value: 'en' }, 'English'), h('option', { value: 'zh' }, '中文'));
    // The language this screen is in (the navigation's switch may differ from the stored one on this browser);
    // saved only when the admin changes it here, so saving another field never changes the language quietly
    // (hand check, stop 29: "Changed: role, language" after changing only the role).
    language.value = lang();
    let languageChosen = false;
    language.addEventListener('change', () => (languageChosen = true));
    const names = h('input', { type: 'checkbox', checked: s.showNames, 'data-testid': 'setting-show-names' });
    const refs = h('input', { type: 'checkbox', checked: s.subjectRefs, 'data-testid': 'setting-subject-refs' });
    const padWords: Record<string, StringKey> = { off: 'padOff', passive: 'padPassive', active: 'padActive' };
    const pad = h(
      'select',
      { 'data-testid': 'setting-pad' },
      h('option', { value: '' }, `${t('padRoleDefault')}: ${t(padWords[padPolicyOf({ role: s.role })]!)}`),
      h('option', { value: 'off' }, t('padOff')),
      h('option', { value: 'passive' }, t('padPassive')),
      h('option', { value: 'active' }, t('padActive')),
    );
    pad.value = s.pad ?? '';
    const live = h('input', { type: 'number', step: '0.01', min: '0.01', max: '0.999', 'data-testid': 'setting-live-threshold', value: String(inForce.pad.liveThreshold) });
    const embedder = h('select', { 'data-testid': 'setting-embedder' }, h('option', { value: 'fr_feature' }, 'fr_feature (512-D)'), h('option', { value: 'dlib_resnet' }, t('embedderDlib')));
    embedder.value = inForce.embedder;
    // The open-set target in percent (the admin screen shows FPIR in percent), the value in force shown.
    const fpirTarget = h('input', { type: 'number', step: 'any', min: '0', max: '50', 'data-testid': 'setting-fpir-target', value: String(Number((100 * inForce.openSet.targetFpir).toPrecision(6))) });
    // Its floor is the embedder's reject threshold (below it the config refuses it): the refusal then states that range.
    const accept = h('input', { type: 'number', step: '0.01', min: String(inForce.thresholds[inForce.embedder].reject), max: '1', 'data-testid': 'setting-accept', value: String(inForce.thresholds[inForce.embedder].accept) });
    // The accept threshold belongs to an embedder: choosing the other one shows that one's threshold in force.
    embedder.addEventListener('change', () => {
      accept.value = String(inForce.thresholds[embedder.value as 'fr_feature' | 'dlib_resnet'].accept);
      accept.min = String(inForce.thresholds[embedder.value as 'fr_feature' | 'dlib_resnet'].reject);
    });
    const retention = h('input', { type: 'number', min: '1', max: String(24 * 366), value: String(s.retentionHours), 'data-testid': 'setting-retention' });
    const role = roleSelect('setting-role', s.role);
    // 0 is stored for "the role's default": shown as an empty box that names the default in force, so the screen
    // never says 0 seconds for a session that lasts a minute (hand check, stop 28).
    const idle = h('input', { type: 'number', min: String(IDLE_SECONDS_MIN), max: String(IDLE_SECONDS_MAX), value: s.sessionIdleSeconds > 0 ? String(s.sessionIdleSeconds) : '', 'data-testid': 'setting-idle' });
    const idleDefault = () => (idle.placeholder = `${t('padRoleDefault')}: ${ROLE_IDLE_SECONDS[role.value as DeviceRole] ?? ROLE_IDLE_SECONDS[s.role]}`);
    const overrideLimit = h('input', { type: 'number', min: '1', max: '100', value: String(s.overrideLimit), 'data-testid': 'setting-override-limit' });
    const overrideWindow = h('input', { type: 'number', min: '1', max: '1440', value: String(s.overrideWindowMinutes), 'data-testid': 'setting-override-window' });
    const cooldown = h('input', { type: 'number', min: '5', max: '3600', value: String(s.presenceCooldownSeconds), 'data-testid': 'setting-presence-cooldown' });
    idleDefault();
    role.addEventListener('change', idleDefault);
    // Empty: decisions name no door and the receiver uses the kiosk id as the door (receiver/orders.mjs); say which.
    const door = h('input', { type: 'text', value: s.door, placeholder: `${t('field_kioskId')}${colon()}${s.kioskId}`, 'data-testid': 'setting-door' });
    const path = h('input', { type: 'text', value: s.upstreamPath, 'data-testid': 'setting-upstream-path' });
    const region = h('select', { 'data-testid': 'setting-plate-region' }, ...['us', 'eu', 'br', 'cn'].map((r) => h('option', { value: r }, r.toUpperCase())));
    region.value = s.plate.region ?? DEFAULT_PLATE_MATCH.region;
    const camera = h('select', { 'data-testid': 'setting-camera' }, h('option', { value: '' }, t('defaultCamera')));
    void this.actions.cameras().then((cams) => {
      for (const c of cams) camera.append(h('option', { value: c.deviceId }, c.label));
      // A camera picked on the card this one replaced (carryOver ran before the list was here) stays picked.
      camera.value = this.unsaved.get('setting-camera')?.value ?? s.cameraDeviceId;
    });
    const btn = h('button', { type: 'button', 'data-testid': 'settings-save' }, t('save'));
    // One outcome line for every rendering of this card: a save re-renders it with the stored values.
    const out = this.out;
    btn.addEventListener('click', () =>
      void run(btn, out, async () => {
        // Numbers are read strictly: an empty or out-of-range box is refused with its field named, never saved as 0.
        const numberOf = (input: HTMLInputElement, field: string, integer: boolean): number => {
          const v = input.value.trim() === '' ? NaN : Number(input.value);
          const min = Number(input.min);
          const max = Number(input.max);
          if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) throw new KioskError('CONFIG_INVALID', { field, min, max });
          return v;
        };
        const emb = embedder.value as 'fr_feature' | 'dlib_resnet';
        const face = { ...s.face };
        if (emb !== inForce.embedder || s.face.embedder !== undefined) face.embedder = emb;
        const acceptValue = numberOf(accept, 'accept', false);
        if (acceptValue !== inForce.thresholds[emb].accept) {
          face.thresholds = { ...(s.face.thresholds ?? {}), [emb]: { ...(s.face.thresholds?.[emb] ?? {}), accept: acceptValue } };
        }
        // An empty box means the documented default (docs/liveness.md); the config refuses values outside (0, 1).
        const { liveThreshold: _old, ...padRest } = s.face.pad ?? {};
        const liveValue = live.value.trim() === '' ? undefined : numberOf(live, 'liveThreshold', false);
        // The threshold is saved with the PAD model it is a point of (src/config/face.ts refuses one without it).
        face.pad =
          liveValue === undefined || (liveValue === inForce.pad.liveThreshold && _old === undefined)
            ? padRest
            : { ...padRest, model: padRest.model ?? inForce.pad.model, liveThreshold: liveValue };
        const { targetFpir: _oldTarget, ...openSetRest } = s.face.openSet ?? {};
        const fpirValue = fpirTarget.value.trim() === '' ? undefined : numberOf(fpirTarget, 'targetFpir', false) / 100;
        face.openSet =
          fpirValue === undefined || (fpirValue === inForce.openSet.targetFpir && _oldTarget === undefined) ? openSetRest : { ...openSetRest, targetFpir: fpirValue };
        const next: Partial<KioskSettings> = {
          mode: mode.value as KioskSettings['mode'],
          ...(languageChosen ? { lang: language.value as 'en' | 'zh' } : {}),
          showNames: names.checked,
          subjectRefs: refs.checked,
          pad: (pad.value || undefined) as KioskSettings['pad'],
          retentionHours: numberOf(retention, 'retentionHours', true),
          door: door.value.trim(),
          upstreamPath: path.value.trim(),
          cameraDeviceId: camera.value,
          face,
          plate: { ...s.plate, region: region.value },
          role: role.value as DeviceRole,
          sessionIdleSeconds: idle.value.trim() === '' ? 0 : numberOf(idle, 'sessionIdleSeconds', true),
          overrideLimit: numberOf(overrideLimit, 'overrideLimit', true),
          overrideWindowMinutes: numberOf(overrideWindow, 'overrideWindowMinutes', true),
          presenceCooldownSeconds: numberOf(cooldown, 'presenceCooldownSeconds', true),
        };
        const changed = changedSettings(s, next);
        if (changed.length === 0) {
          // The language chosen here is the stored one, but this screen was switched to the other in the navigation:
          // nothing to save, and the screen follows the choice (it said "Nothing changed" and stayed, stop 29).
          if (languageChosen && language.value !== lang()) this.actions.showLanguage(language.value as 'en' | 'zh');
          return t('settingsUnchanged');
        }
        // Not setLang here: a new language is applied by reloading every screen (main.ts switchLang, after the
        // save). Switching the current language first made that reload look unnecessary, and the navigation, the
        // other cards and the guard screen stayed in the old language (hand check, stop 28). The line is already
        // in the new language for the moment before the reload.
        const lng = next.lang ?? lang();
        // Cleared before the save: the card it rebuilds shows the stored values (as stored: "1e-7", not the typed
        // "0.0000001"); a refused save keeps them unsaved.
        const pending = [...this.unsaved];
        this.unsaved.clear();
        try {
          await this.actions.saveSettings(next);
        } catch (e) {
          for (const [id, v] of pending) if (!this.unsaved.has(id)) this.unsaved.set(id, v);
          throw e;
        }
        return tf('settingsChanged', { fields: changed.map((f) => t(f, lng)).join(lng === 'zh' ? '、' : ', ') }, lng);
      }),
    );
    const form = card(
      t('settings'),
      'section-settings',
      field(t('deviceRole'), role, 'set-role'),
      field(t('sessionIdle'), idle, 'set-idle'),
      field(t('overrideLimit'), overrideLimit, 'set-override-limit'),
      field(t('overrideWindow'), overrideWindow, 'set-override-window'),
      field(t('presenceCooldown'), cooldown, 'set-presence-cooldown'),
      field(t('mode'), mode, 'set-mode'),
      field(t('language'), language, 'set-lang'),
      h('label', { class: 'check' }, names, ` ${t('showNames')}`),
      h('label', { class: 'check' }, refs, ` ${t('subjectRefs')}`),
      field(t('padPolicy'), pad, 'set-pad'),
      field(t('padLiveThreshold'), live, 'set-live-threshold'),
      field(t('embedder'), embedder, 'set-embedder'),
      field(t('acceptThreshold'), accept, 'set-accept'),
      field(t('fpirTargetSetting'), fpirTarget, 'set-fpir-target'),
      field(t('plateRegion'), region, 'set-region'),
      field(t('camera'), camera, 'set-camera'),
      field(t('retentionHours'), retention, 'set-retention'),
      field(t('door'), door, 'set-door'),
      field(t('upstreamPath'), path, 'set-path'),
      btn,
      out,
    );
    const note = (e: Event) => {
      const c = e.target as HTMLInputElement | HTMLSelectElement;
      const id = c.dataset['testid'];
      if (!id || !id.startsWith('setting-')) return;
      this.unsaved.delete(id);
      this.unsaved.set(id, { value: c.value, checked: c instanceof HTMLInputElement && c.checked });
    };
    form.addEventListener('input', note);
    form.addEventListener('change', note);
    return form;
  }
}
