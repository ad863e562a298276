// The link endpoints of docs/api.md ("Links"), through the messaging page's API client.

import { api } from "../../messaging/js/api.js";

const ROOT = "/api/messaging/links/";

export const linksApi = {
  process: (text, options) => api.post(`${ROOT}process`, { text }, options),
  preview: (url, options) => api.get(`${ROOT}preview`, { url }, options),
  refresh: (messageId, url) => api.post(`${ROOT}refresh`, url ? { messageId, url } : { messageId }),
  remove: (messageId, url) => api.post(`${ROOT}remove`, url ? { messageId, url } : { messageId }),
};
