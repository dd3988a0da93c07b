import { useEffect, useState } from 'react';

/** Hash routes (#/runs/<id>): the server serves one index.html, and reloads keep the page. */
export function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'runs').split('?')[0]!.split('/');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function query(): URLSearchParams {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}

export const go = (path: string) => {
  location.hash = `#/${path}`;
};
