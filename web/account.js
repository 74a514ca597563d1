// Who is buying in this tab. The header shows it and every view reads it;
// listeners hear when it changes (picked, created, or switched away).

import { loadUser, saveUser, knownName, rememberName } from './storage.js';

const listeners = new Set();

export function currentUser() {
  return loadUser();
}

export function setUser(userId, name = null) {
  if (name) rememberName(userId, name);
  const user = { userId, name: name || knownName(userId) };
  saveUser(user);
  for (const fn of listeners) fn(user);
  return user;
}

export function clearUser() {
  saveUser(null);
  for (const fn of listeners) fn(null);
}

export function onUserChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "kim (#7)", or "User #7" when the name is not known to this tab. */
export function userLabel(user) {
  return user.name ? `${user.name} (#${user.userId})` : `User #${user.userId}`;
}
