document.getElementById('app')!.textContent = 'zonescope';
